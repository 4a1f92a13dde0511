"""`python -m bench`: run the benchmarks and print one comparison table."""

from bench.run import main

raise SystemExit(main())
