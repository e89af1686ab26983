"""Agencies' monthly tracking sheets: template, reading, validation, submission and status.
Sheets arrive as CSV or Excel in known layouts and leave as one tidy, sops-encrypted CSV.
"""
