"""Disclosure control for what leaves the group (contract D): suppression and the attacker's audit.
Primary and secondary suppression, the audit of every attacker, and percent-only indicators.

Public API
==========

Tables
------
``Table.from_frame(frame, rows, cols=(), *, where=None, margins=True, name=None, categories=None,
subtotals=None, total_label="Total") -> Table``
    A count table from a long frame (``period,site,indicator,sex,age_group,nationality,count``,
    or the tidy ``month,...`` form; an ``agency`` column is summed; ``site`` ``ALL`` rows are
    dropped when sites are present, the national figures being the sites' sum). ``rows`` and
    ``cols`` are dimension names; ``where`` fixes other dimensions to a value or a list of values
    (summed, e.g. the months of a year to date); dimensions not named are summed over.
    ``margins``: True (every row and column dimension gets a ``Total``), False, or the dimensions
    that get one. ``categories``: code order per dimension (e.g. ``isp.dimension_codes()``).
    ``subtotals``: ``{dim: {label: [codes]}}`` (a hierarchy, e.g. a governorate and its camps).
    Build every table of a release from the same frame: cells with the same leaves are one cell
    in every table (one suppression pattern), and month, year-to-date and national figures link.
``Table`` attributes: ``name``, ``dims`` (the frame's key columns), ``rows``, ``cols``,
``margins``, ``where``, ``categories``, ``leaves`` (key columns + ``count``), ``subtotals``,
``total_label``; ``table.values() -> dict[labels, int]``, ``table.describe(labels) -> str``.
    A cell's ``labels`` is a tuple over ``rows + cols``, e.g. ``("JO11", "Total")``.
``PublishedTable(table, shown)``: ``shown: Mapping[labels, int | None]`` (None = suppressed);
``PublishedTable.of(table, suppressed=())``; ``.name``, ``.suppressed -> list[labels]``,
``.frame() -> DataFrame`` (rows + cols columns and ``count``, nullable ``Int64``, ``<NA>`` =
suppressed), ``.crosstab() -> DataFrame``.
``Relation(dim, total, parts)``: ``total`` = sum of ``parts`` at every other coordinate (an
indicator group); ``relations_from_protocol(isp) -> list[Relation]`` (groups with
``sums_to``). Attackers know these identities, so pass them to ``protect`` and ``audit``.

Protect
-------
``protect(tables, profile, contributions=None, *, relations=(), prior=(), exact=False) -> Protected``
    ``profile``: a ``DisclosureProfile`` (``isp.protocol.disclosure.profiles["external"]``).
    ``contributions``: the same long frame with an ``agency`` column (each agency's own
    figures; they must add up to the tables): enables the p% rule and the insider attacks.
    ``prior``: ``PublishedTable``s of earlier releases (their cells keep their state and their
    suppressed cells stay protected: month against year to date). Raises ``IspError`` when
    the figures are inconsistent or an earlier release already gives a cell away.
``Protected``: ``.tables: tuple[PublishedTable, ...]`` (same order as ``tables``),
``.pattern: DataFrame`` (``table``, ``labels``, ``cell``, ``reason`` in ``threshold`` |
``dominance`` | ``secondary`` | ``prior``; one row per table cell), ``.report: AuditReport``
(the audit that passed), ``.rounds``, ``.table(name) -> PublishedTable``, ``.suppressed`` (number
of distinct cells). Deterministic: the same inputs give the same pattern.

Audit
-----
``audit(tables, profile, *, contributions=None, percentages=(), relations=(), exact=False) -> AuditReport``
    Everything ``tables`` (``PublishedTable``) and ``percentages`` (``PercentTable``) publish,
    together. With the true figures (tables built from frames), each suppressed cell is checked
    for the public and, given ``contributions``, for every agency as an insider; without them
    (tables read back from CSV) every suppressed cell needs an interval at least the protection
    width wide. Criteria: :mod:`isp.disclosure.audit`.
``AuditReport``: ``.ok``, ``.violations: list[Violation]``, ``.intervals: DataFrame`` (``cell``,
``attacker`` (``"public"`` or an agency code), ``role`` (``primary`` | ``secondary`` |
``suppressed``), ``lo``, ``hi`` (``inf`` when unbounded), ``exact``), ``.lines(values=True)``.
    With ``exact=False`` an interval side that passed shows a value a whole-number table reaches
    (the attacker's true interval is at least that wide), a side that failed the bound the
    attacker can prove; ``exact=True`` solves every side to optimality.
``Violation``: ``cell``, ``attacker``, ``rule`` (``published`` | ``upper`` | ``lower`` |
``width``), ``lo``, ``hi``, ``needed``; ``str(v)`` leaves the interval out (it may reveal a
figure), ``v.line(values=True)`` keeps it (fine for a table that is already public).

Percent-only indicators
-----------------------
``percentages(numerator, denominator, profile, *, extremes_below=200) -> PercentTable``
    From protected counts: ``numerator`` and ``denominator`` are ``PublishedTable``s with the same
    cells (protect the numerator's table together with the release, publish only its
    percentages). Whole percent, half up; none where the numerator is suppressed or the
    denominator is suppressed or below ``profile.min_denominator``; no 0% or 100% below
    ``extremes_below``.
``PercentTable``: ``.numerator``, ``.denominator`` (``Table``), ``.percent: Mapping[labels, int |
None]``, ``.frame()`` (``percent`` column, ``<NA>`` = not shown). Pass it to ``audit(...,
percentages=[...])`` with the count tables actually published.

Rules and helpers
-----------------
``threshold_unsafe(values, site_level, profile)``, ``dominance_unsafe(contributions, p)``,
``p_percent_unsafe(contributions, p) -> bool``, ``whole_percent(y, n)``;
``read_crosstab(data: bytes, name) -> PublishedTable``, ``to_crosstab(PublishedTable) -> bytes``.

Example (one month's external release)::

    profile = isp.protocol.disclosure.profiles["external"]
    order = {**isp.dimension_codes(), "site": list(isp.sites)}
    tables = []
    for code in codes:
        where = {"indicator": code}
        tables.append(Table.from_frame(counts, ["site"], ["sex"], where=where, categories=order))
        tables.append(Table.from_frame(counts, ["sex", "age_group"], ["nationality"], where=where,
                                       categories=order))
    result = protect(tables, profile, contributions, relations=relations_from_protocol(isp))
    frames = [t.frame() for t in result.tables]   # <NA> where suppressed

No figure appears in an exception message. The intervals of a report are figures: keep reports
inside the group.
"""

from isp.disclosure.audit import PUBLIC, AuditReport, Violation, audit
from isp.disclosure.crosstab import read_crosstab, to_crosstab
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
    "read_crosstab",
    "relations_from_protocol",
    "threshold_unsafe",
    "to_crosstab",
    "whole_percent",
]
