"""Disclosure control (placeholder docstring, see below)."""

from isp.disclosure.audit import PUBLIC, AuditReport, Violation, audit
from isp.disclosure.percent import PercentTable, percentages, whole_percent
from isp.disclosure.primary import dominance_unsafe, p_percent_unsafe, threshold_unsafe
from isp.disclosure.secondary import Protected, protect
from isp.disclosure.tables import TOTAL, PublishedTable, Relation, Table, relations_from_protocol

__all__ = [
    "PUBLIC",
    "TOTAL",
    "AuditReport",
    "PercentTable",
    "Protected",
    "PublishedTable",
    "Relation",
    "Table",
    "Violation",
    "audit",
    "dominance_unsafe",
    "p_percent_unsafe",
    "percentages",
    "protect",
    "relations_from_protocol",
    "threshold_unsafe",
    "whole_percent",
]
