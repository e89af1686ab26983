"""Consolidation: the encrypted submissions in, the encrypted aggregates/ out (contract C).
Only stale outputs are recomputed; a killed run leaves the last good state.
"""

from isp.consolidate.compute import consolidate_range
from isp.consolidate.inputs import load_submissions
from isp.consolidate.layout import NATIONAL
from isp.consolidate.outputs import (
    agency_years,
    list_agency_outputs,
    list_outputs,
    read_agency_manifest,
    read_agency_year,
    read_manifest,
    read_output,
    read_table,
)
from isp.consolidate.run import Progress, Report, run

__all__ = [
    "NATIONAL",
    "Progress",
    "Report",
    "agency_years",
    "consolidate_range",
    "list_agency_outputs",
    "list_outputs",
    "load_submissions",
    "read_agency_manifest",
    "read_agency_year",
    "read_manifest",
    "read_output",
    "read_table",
    "run",
]
