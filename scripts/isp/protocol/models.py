"""The protocol as data: pydantic models for protocol/*.yaml and the :class:`Isp` bundle of them.

:func:`isp.protocol.loading.load` reads the files into an :class:`Isp`, which every other module
reads its rules from; :mod:`isp.protocol.checks` holds the rules that span files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from isp.errors import IspError
from isp.protocol.periods import MONTH_RE, add_months, first_day
from isp.yamlfiles import RecordModel

AGENCY_CODE = r"^[A-Z][A-Z0-9]{1,11}$"
Month = Annotated[str, Field(pattern=MONTH_RE.pattern)]
Role = Literal["coordinator", "data_gathering", "technical_support"]
# The roles the clocks use: follow-up goes to the secondary, escalation to the signatory.
CLOCK_ROLES = ("primary", "secondary", "signatory")
# The annex names two to four focal points per agency: the primary, the secondary and up to two more.
ANNEX_FOCAL_POINTS = (2, 4)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


class Model(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- protocol.yaml ---------------------------------------------------------------------------


class Closure(Model):
    date: date
    name: str


class ValidityPeriod(Model):
    start: date
    months: int = Field(gt=0, le=60)
    basis: Literal["signature", "renewal"]

    @property
    def end(self) -> date:
        """The last day in force (the day before the same date ``months`` later)."""
        start = first_day(add_months(f"{self.start:%Y-%m}", self.months))
        return date.fromordinal(start.replace(day=self.start.day).toordinal() - 1)


class Validity(Model):
    effective: date
    term_months: int = Field(gt=0)
    periods: list[ValidityPeriod] = Field(min_length=1)
    review_date: date

    @model_validator(mode="after")
    def _consistent(self) -> Validity:
        if self.periods[0].start != self.effective or self.periods[0].basis != "signature":
            raise ValueError("the first period must be the signature, starting on `effective`")
        for before, after in zip(self.periods, self.periods[1:], strict=False):
            if after.start <= before.end:
                raise ValueError(f"the period starting {after.start} overlaps the one before")
        last = self.periods[-1]
        if not last.start <= self.review_date <= last.end:
            raise ValueError(f"review_date must fall within the last period ({last.start}..{last.end})")
        return self

    def in_force(self, day: date) -> bool:
        return any(p.start <= day <= p.end for p in self.periods)


class SectoralReport(Model):
    """Due by the ``working_day``-th working day of each month in ``due_months`` (June and
    December in the signed protocol); it covers the ``covers_months`` most recent months whose
    consolidated report was due by then."""

    due_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(min_length=1)
    working_day: int = Field(gt=0, le=23)
    covers_months: int = Field(default=6, ge=1, le=12)


class MeetingClocks(Model):
    """The protocol's meetings, each held by this many working days after what it discusses."""

    task_force_working_days: int = Field(default=5, gt=0)  # after the consolidated report is due
    signatories_working_days: int = Field(default=10, gt=0)  # after the sectoral report is due
    # Where the signatories present the sectoral findings, nationally and in the field.
    working_groups: list[str] = ["ISWG", "Protection WG", "CPSWG", "SGBV SWG"]


class RequestClocks(Model):
    answer_working_days: int = Field(gt=0)
    follow_up_working_days: int = Field(gt=0)
    escalation_working_days: int = Field(gt=0)
    # Not in the signed protocol: a request lapses after this many working days only when the
    # signatories opt in. Off (None) by default: a request waits for every answer.
    expiry_working_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RequestClocks:
        if self.escalation_working_days <= self.follow_up_working_days:
            raise ValueError("escalation_working_days must come after follow_up_working_days")
        if self.expiry_working_days is not None and self.expiry_working_days <= self.escalation_working_days:
            raise ValueError("expiry_working_days must come after escalation_working_days")
        return self


class BreachClocks(Model):
    meeting_days: int = Field(gt=0)
    senior_management_days: int = Field(gt=0)
    resolution_months: int = Field(gt=0)


class Deadlines(Model):
    submission_day: int = Field(ge=1, le=28)
    consolidation_day: int = Field(ge=1, le=28)
    roll_to_next_working_day: bool = True
    sectoral_report: SectoralReport
    requests: RequestClocks
    breach: BreachClocks
    meetings: MeetingClocks = MeetingClocks()

    @model_validator(mode="after")
    def _ordered(self) -> Deadlines:
        if self.consolidation_day <= self.submission_day:
            raise ValueError("consolidation_day must come after submission_day")
        return self


class Recipient(Model):
    code: str
    name: str


class Sharing(Model):
    never_external_tags: list[str]
    percent_only_tags: list[str]
    government_recipients: list[Recipient]
    # Ground rule 10's attribution in the signatories' own wording; empty: the project's wording.
    attribution: list[str] = []
    disclaimers: list[str] = Field(min_length=1)


class DisclosureProfile(Model):
    """One way of protecting an external release (design section 8).

    ``method``: ``suppression`` hides the cells the rules flag and enough others; ``rounding``
    (small-count rounding) turns every finest cell of 1 to ``round_base - 1`` into 0 or
    ``round_base`` and publishes every total as the sum of its rounded parts."""

    method: Literal["suppression", "rounding"] = "suppression"
    round_base: int = Field(default=5, ge=2)
    threshold: int = Field(ge=0)
    site_threshold: int = Field(ge=0)
    dominance_p: float = Field(ge=0, le=100)
    protection_width: int = Field(default=1, ge=0)
    min_denominator: int = Field(ge=0)
    zeros_published: bool = True


class Disclosure(Model):
    profiles: dict[str, DisclosureProfile]
    strictness: list[str] = ["external"]  # external profiles, least to most strict

    @field_validator("profiles")
    @classmethod
    def _has_external(cls, value: dict[str, DisclosureProfile]) -> dict[str, DisclosureProfile]:
        if "external" not in value:
            raise ValueError("an `external` profile is required")
        return value

    @model_validator(mode="after")
    def _strictness_names_profiles(self) -> Disclosure:
        unknown = [name for name in self.strictness if name not in self.profiles]
        if unknown:
            raise ValueError(f"`strictness` names no profile {', '.join(unknown)}")
        if "external" not in self.strictness or len(set(self.strictness)) != len(self.strictness):
            raise ValueError("`strictness` must list `external` and each profile once")
        return self

    def strictest(self, named: Iterable[str | None], default: str = "external") -> str:
        """The strictest of ``default`` and every profile ``named`` (by the order of ``strictness``)."""
        chosen = default
        for name in named:
            if name is None:
                continue
            if name not in self.strictness:
                raise IspError(
                    f"protocol.yaml: `{name}` is not an external disclosure profile "
                    f"(use one of {', '.join(self.strictness)})"
                )
            if self.strictness.index(name) > self.strictness.index(chosen):
                chosen = name
        return chosen


class Protocol(Model):
    name: str
    short_name: str
    rules_version: int = Field(ge=1)
    country: Literal["JO"]
    weekend: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    extra_closures: list[Closure] = []
    validity: Validity
    deadlines: Deadlines
    sharing: Sharing
    disclosure: Disclosure

    @property
    def weekend_days(self) -> set[int]:
        return {WEEKDAYS.index(day) for day in self.weekend}


# --- agencies.yaml ---------------------------------------------------------------------------


class FocalPoint(Model):
    name: str = Field(min_length=2)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    position: str | None = None  # the job title, as the protocol's annex lists it
    ssh_keys: list[str] = []

    @field_validator("ssh_keys")
    @classmethod
    def _ssh_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not re.match(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+|sk-\S+) [A-Za-z0-9+/=]+", key):
                raise ValueError("an SSH key must be a public key line such as 'ssh-ed25519 AAAA...'")
        return value


class FocalPoints(Model):
    primary: FocalPoint
    secondary: FocalPoint
    signatory: FocalPoint

    def all(self) -> list[tuple[str, FocalPoint]]:
        return [("primary", self.primary), ("secondary", self.secondary), ("signatory", self.signatory)]


class OtherFocalPoint(Model):
    """A focal point of the annex beyond the primary and secondary ones: a contact with a role,
    who neither signs for the agency nor is chased by the request clocks."""

    name: str = Field(min_length=2)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    position: str = Field(min_length=3)
    role: str = Field(min_length=3)

    @field_validator("role")
    @classmethod
    def _not_a_clock_role(cls, value: str) -> str:
        if value in CLOCK_ROLES:
            raise ValueError(f"'{value}' is one of focal_points' own keys: put that person there")
        return value


class Suspension(Model):
    """A written justification for not sharing: a suspension (safety, security or capacity), or
    its own kind, stopping because of a breach (``breach`` names it)."""

    start: Month = Field(alias="from")
    end: Month | None = Field(default=None, alias="to")
    kind: Literal["suspension", "breach-stop"] = "suspension"
    breach: str | None = None
    reason: str = Field(min_length=3)
    recorded: date | None = None

    @model_validator(mode="after")
    def _breach_only_for_a_stop(self) -> Suspension:
        if (self.kind == "breach-stop") != (self.breach is not None):
            raise ValueError("a breach-stop names its breach, and only a breach-stop does")
        return self

    def covers(self, month: str) -> bool:
        return self.start <= month and (self.end is None or month <= self.end)


def _check_recipients(value: list[str]) -> list[str]:
    for recipient in value:
        if not AGE_RECIPIENT.match(recipient):
            raise ValueError(f"'{recipient[:12]}...' is not an age recipient (age1...)")
    return value


class Agency(Model):
    name: str
    label: str
    roles: list[Role] = Field(min_length=1)
    system: Literal["rais_cpims", "cpims_standalone", "mrm_ims", "other"]
    data_scope: Literal["tracking_sheet", "mrm"] = "tracking_sheet"
    sites: list[str] = []
    focal_points: FocalPoints
    other_focal_points: list[OtherFocalPoint] = Field(default=[], max_length=ANNEX_FOCAL_POINTS[1] - 2)
    age_recipients: list[str] = []
    suspensions: list[Suspension] = []
    # the languages of the agency's e-mails, in order (English and, where asked, Arabic)
    languages: list[Literal["en", "ar"]] = Field(default=["en"], min_length=1)

    _recipients = field_validator("age_recipients")(classmethod(lambda cls, v: _check_recipients(v)))

    @property
    def submits_sheets(self) -> bool:
        return "data_gathering" in self.roles and self.data_scope == "tracking_sheet"

    def annex_focal_points(self) -> list[tuple[str, FocalPoint | OtherFocalPoint]]:
        """The focal points as the annex has them (the signatory is not one): role and person."""
        fps = self.focal_points
        return [("primary", fps.primary), ("secondary", fps.secondary), *((o.role, o) for o in self.other_focal_points)]

    def people(self) -> list[tuple[str, FocalPoint | OtherFocalPoint]]:
        """Everyone agencies.yaml names for this agency: the annex's focal points and the signatory."""
        return [*self.annex_focal_points(), ("signatory", self.focal_points.signatory)]

    def suspended_in(self, month: str) -> Suspension | None:
        return next((s for s in self.suspensions if s.covers(month)), None)


class CiEntry(Model):
    age_recipients: list[str] = []

    _recipients = field_validator("age_recipients")(classmethod(lambda cls, v: _check_recipients(v)))


class Agencies(Model):
    agencies: dict[Annotated[str, Field(pattern=AGENCY_CODE)], Agency]
    ci: CiEntry = CiEntry()


# --- sites.yaml and indicators.yaml ----------------------------------------------------------


class Site(Model):
    code: str = Field(pattern=r"^[A-Z0-9-]{2,20}$")
    kind: Literal["governorate", "region", "camp"]
    name_en: str
    name_ar: str
    parent: str | None = None
    note: str | None = None


class Sites(Model):
    sites: list[Site] = Field(min_length=1)


class Code(Model):
    code: str
    name_en: str
    name_ar: str


class Group(Code):
    sums_to: str | None = None


class Indicator(Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    group: str
    aggregation: Literal["flow", "stock"]
    name_en: str
    name_ar: str
    tags: list[str] = []
    denominator: str | None = None


class Dimensions(Model):
    sex: list[Code] = Field(min_length=1)
    age_group: list[Code] = Field(min_length=1)
    nationality: list[Code] = Field(min_length=1)


class Indicators(Model):
    dimensions: Dimensions
    groups: list[Group]
    tags: dict[str, str]
    indicators: list[Indicator] = Field(min_length=1)


# --- the bundle ------------------------------------------------------------------------------


class Isp:
    """Everything in protocol/, loaded and cross-checked, with the lookups other modules need."""

    def __init__(
        self, root: Path, protocol: Protocol, agencies: Agencies, sites: Sites, indicators: Indicators
    ) -> None:
        self.root = root
        self.protocol = protocol
        self.agencies = agencies.agencies
        self.ci = agencies.ci
        self.sites = {site.code: site for site in sites.sites}
        self.indicators = {ind.code: ind for ind in indicators.indicators}
        self.groups = {group.code: group for group in indicators.groups}
        self.dimensions = indicators.dimensions
        self.tags = indicators.tags

    def coordinators(self) -> list[str]:
        return [code for code, a in self.agencies.items() if "coordinator" in a.roles]

    def data_gathering(self) -> list[str]:
        """Agencies whose written agreement every external release needs."""
        return [code for code, a in self.agencies.items() if "data_gathering" in a.roles]

    def submitters(self) -> list[str]:
        """Agencies that send the monthly tracking sheet."""
        return [code for code, a in self.agencies.items() if a.submits_sheets]

    def agency(self, code: str) -> Agency:
        if code not in self.agencies:
            known = ", ".join(self.agencies)
            raise IspError(f"unknown agency '{code}': the agencies are {known}")
        return self.agencies[code]

    def agency_of_email(self, email: str) -> str | None:
        for code, agency in self.agencies.items():
            if any(fp.email.lower() == email.lower() for _, fp in agency.people()):
                return code
        return None

    def tagged(self, tag: str) -> list[str]:
        return [code for code, ind in self.indicators.items() if tag in ind.tags]

    def dimension_codes(self) -> dict[str, list[str]]:
        return {name: [c.code for c in getattr(self.dimensions, name)] for name in ("sex", "age_group", "nationality")}
