"""External releases: the package an approved request receives, refused unless every rule holds.
Spec, sources, disclosure protection, writers (CSV, Excel, HTML), package, sectoral report.
"""
