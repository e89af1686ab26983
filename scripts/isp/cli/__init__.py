"""The `isp` command line: wiring only, one module per command group.
The logic lives in the library packages, none of which imports this one.
"""
