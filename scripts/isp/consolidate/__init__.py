"""Consolidation: submissions in, aggregates/ out (contract C).

- :mod:`.inputs` finds, hashes, decrypts (in memory) and parses submissions;
- :mod:`.layout` is the dense cell index and the canonical CSV of an output;
- :mod:`.compute` is the arithmetic (flows summed, stocks from the last month, suspensions out);
- :mod:`.plan` decides which outputs are stale (consolidated periods, each agency's year
  files) and :mod:`.sources` what the consolidated ones are made from;
- :mod:`.staging` writes outputs so that a killed run leaves the last good state;
- :mod:`.manifest` and :mod:`.outputs` record and read the results;
- :mod:`.run` ties them together for ``isp consolidate``.
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
