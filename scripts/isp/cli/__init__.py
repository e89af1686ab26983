"""The `isp` command line: wiring only. Logic lives in the library modules."""
