"""`python -m claudetracing`: the same as the `traces` executable."""

from claudetracing.entry import main

main()
