"""What every layer stands on: errors, paths, files, configuration and the small outside systems."""
