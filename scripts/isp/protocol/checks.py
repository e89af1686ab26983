"""Cross-reference rules over the loaded protocol, each returning problems (never raising)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from isp import errors
from isp.errors import Problem
from isp.protocol import attribution
from isp.protocol.models import Isp

AGENCIES = "protocol/agencies.yaml"
SITES = "protocol/sites.yaml"
INDICATORS = "protocol/indicators.yaml"
PROTOCOL = "protocol/protocol.yaml"


def _agency_sites(isp: Isp) -> Iterator[Problem]:
    for code, agency in isp.agencies.items():
        for site in agency.sites:
            if site not in isp.sites:
                yield Problem.of(
                    errors.UNKNOWN_SITE,
                    AGENCIES,
                    fix="use a code from protocol/sites.yaml",
                    where=f"agencies.{code}.sites",
                    site=site,
                )
        if agency.submits_sheets and not agency.sites:
            yield Problem.of(errors.NO_SITES, AGENCIES, agency=code)


def _focal_points(isp: Isp) -> Iterator[Problem]:
    owners: dict[str, set[str]] = {}
    for code, agency in isp.agencies.items():
        emails = [fp.email.lower() for _, fp in agency.people()]
        for email in emails:
            owners.setdefault(email, set()).add(code)
        for role, fp in agency.annex_focal_points():
            if not fp.position:
                yield Problem.of(
                    errors.FOCAL_POINT_POSITION,
                    AGENCIES,
                    fix="add `position: <job title>`",
                    severity="warning",
                    code=code,
                    role=role,
                )
        fps = agency.focal_points
        if "data_gathering" in agency.roles and fps.primary.email.lower() == fps.secondary.email.lower():
            yield Problem.of(
                errors.FOCAL_POINTS,
                AGENCIES,
                fix="name a secondary focal point for follow-ups",
                detail=f"agencies.{code}.focal_points: primary and secondary must be different people",
            )
    for email, codes in owners.items():
        if len(codes) > 1:
            yield Problem.of(
                errors.FOCAL_POINTS,
                AGENCIES,
                detail=f"{email} is a focal point of {', '.join(sorted(codes))}: one agency each",
            )


def _roles(isp: Isp) -> Iterator[Problem]:
    if not isp.coordinators():
        yield Problem.of(errors.ROLES, AGENCIES, role="has the coordinator role")
    if not isp.submitters():
        yield Problem.of(errors.ROLES, AGENCIES, role="sends the monthly tracking sheet")


def _sites(isp: Isp) -> Iterator[Problem]:
    for site in isp.sites.values():
        if site.parent and site.parent not in isp.sites:
            yield Problem.of(errors.UNKNOWN_SITE, SITES, where=f"{site.code}.parent", site=site.parent)


def _indicators(isp: Isp) -> Iterator[Problem]:
    for ind in isp.indicators.values():
        if ind.group not in isp.groups:
            yield Problem.of(errors.UNKNOWN_GROUP, INDICATORS, indicator=ind.code, group=ind.group)
        for tag in ind.tags:
            if tag not in isp.tags:
                yield Problem.of(errors.UNKNOWN_TAG, INDICATORS, where=f"{ind.code}.tags", tag=tag)
        if ind.denominator and ind.denominator not in isp.indicators:
            yield Problem.of(
                errors.UNKNOWN_INDICATOR, INDICATORS, where=f"{ind.code}.denominator", indicator=ind.denominator
            )
        percent_only = set(isp.protocol.sharing.percent_only_tags)
        if percent_only & set(ind.tags) and not ind.denominator:
            yield Problem.of(errors.DENOMINATOR, INDICATORS, indicator=ind.code)
    for group in isp.groups.values():
        if group.sums_to and group.sums_to not in isp.indicators:
            yield Problem.of(
                errors.UNKNOWN_INDICATOR, INDICATORS, where=f"groups.{group.code}.sums_to", indicator=group.sums_to
            )


def _sharing_tags(isp: Isp) -> Iterator[Problem]:
    sharing = isp.protocol.sharing
    for tag in [*sharing.never_external_tags, *sharing.percent_only_tags]:
        if tag not in isp.tags:
            yield Problem.of(errors.UNKNOWN_TAG, PROTOCOL, where="sharing", tag=tag)


def _suspensions(isp: Isp) -> Iterator[Problem]:
    for code, agency in isp.agencies.items():
        for s in agency.suspensions:
            if s.end is not None and s.end < s.start:
                yield Problem.of(
                    errors.DATES,
                    AGENCIES,
                    detail=f"agencies.{code}.suspensions: 'to' {s.end} is before 'from' {s.start}",
                )


def _attribution(isp: Isp) -> Iterator[Problem]:
    for element in attribution.missing_elements(attribution.wording(isp), isp):
        yield Problem.of(
            errors.ATTRIBUTION,
            PROTOCOL,
            fix="keep every element of ground rule 10, or remove `attribution` to use the default wording",
            says=element.says,
            code=element.code,
        )


def _validity(isp: Isp) -> Iterator[Problem]:
    validity = isp.protocol.validity
    if validity.term_months != validity.periods[0].months:
        yield Problem.of(errors.DATES, PROTOCOL, detail="validity.term_months differs from the signature period")


RULES: tuple[Callable[[Isp], Iterator[Problem]], ...] = (
    _agency_sites,
    _focal_points,
    _roles,
    _sites,
    _indicators,
    _sharing_tags,
    _suspensions,
    _validity,
    _attribution,
)


def all_problems(isp: Isp) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(isp)]
