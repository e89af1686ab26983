"""`isp release ID -o DIR`: the package an approved request receives, refused unless every rule holds.

In order, and nothing is decrypted or written before the first two pass:

1. the rules of the protocol (:func:`isp.governance.membership.release_blockers`): every required agency
   approved in a signed commit, none refused, no breach open, the protocol in force;
2. the destination: outside the repository's tracked folders, new or empty;
3. the figures: the request's periods from the consolidated aggregates, and each agency's
   contribution from its submissions (both decrypted in memory, :mod:`isp.release.sources`);
4. disclosure control with the ``external`` profile, or the strictest profile an approving agency
   named as its condition (``isp request decide --approve --profile``), then its audit
   (:mod:`isp.release.protect`): the release is refused if the audit finds any weakness;
5. the files (:mod:`isp.release.writers`, :mod:`isp.release.html`), written all at once;
6. the release recorded in ``requests/<ID>.yaml`` (``releases:``), for the coordinator to commit.

The half-yearly sectoral report is the same pipeline on a standing request
(:mod:`isp.release.sectoral`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isp.errors import IspError
from isp.protocol import attribution, loading, workdays
from isp.protocol.models import DisclosureProfile, Isp
from isp.release import holdings
from isp.release.holdings import Holdings
from isp.release.html import EXTERNAL_TEMPLATE, render
from isp.release.output import WrittenFile, check_destination, write_package
from isp.release.package import Package, ReleaseMeta, labels_for, with_period_bounds
from isp.release.spec import REST, ReleaseSpec, read_spec
from isp.release.writers import file_names, to_csv, to_hxl, to_metadata, to_readme, to_xlsx

if TYPE_CHECKING:
    from isp.governance.request_models import Request

PROFILE = "external"


@dataclass(frozen=True)
class ReleaseResult:
    release_id: str
    request_id: str
    out: Path
    files: list[WrittenFile]
    suppressed: int
    recipient: str
    request_file: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "request_id": self.request_id,
            "out": str(self.out),
            "recipient": self.recipient,
            "suppressed_cells": self.suppressed,
            "request_file": self.request_file,
            "files": [f.as_dict() for f in self.files],
        }


@dataclass(frozen=True)
class Options:
    """What differs between an external release and the sectoral report."""

    kind: str = "external"
    template: str = EXTERNAL_TEMPLATE
    title: str = "Child protection figures, Jordan"
    audience: str = ""
    recipient: str | None = None  # who the files name; default: the requester


def refuse_unless_allowed(root: Path, request_id: str, today: date) -> None:
    """One line naming every reason the protocol forbids this release, if any."""
    from isp.governance import membership

    blockers = membership.release_blockers(root, request_id, today)
    if blockers:
        raise IspError(f"release of {request_id} refused: {'; '.join(blockers)} (nothing was written)")


def recipient_of(request: Request) -> str:
    """ "Name, position, organisation" of the requester (never their contact details)."""
    who = request.requester
    return ", ".join(part.strip() for part in (who.name, who.position, who.organization) if part and part.strip())


def next_release_id(request: Request) -> str:
    """``REL-<request id>-<n>``, n counting this request's releases from 1."""
    return f"REL-{request.id}-{len(request.releases) + 1}"


def method_note(profile: DisclosureProfile) -> str:
    """One plain paragraph on how the figures were protected (every file of the release states it)."""
    if profile.method == "rounding":
        base = profile.round_base
        return (
            f"Small-count rounding, base {base}: the counts of 1 to {base - 1} children in the finest "
            f"breakdown were rounded to 0 or {base}, so no small count can point to a child; every total "
            "is the sum of its rounded parts, so totals may differ slightly from the true figures."
        )
    rules = f"counts below {profile.threshold} ({profile.site_threshold} for a site)"
    if profile.dominance_p > 0:
        rules += " and cells one agency nearly makes up"
    return (
        f"Cell suppression: {rules} are hidden, with the extra cells needed so that none can be "
        "worked out; every figure shown is exact."
    )


def method_short(profile: DisclosureProfile) -> str:
    if profile.method == "rounding":
        return f"small-count rounding, base {profile.round_base}"
    return "cell suppression" + (f" with a {profile.dominance_p:g}% dominance rule" if profile.dominance_p else "")


def method_note_ar(profile: DisclosureProfile) -> str:
    """The same paragraph in Arabic (bilingual releases)."""
    if profile.method == "rounding":
        base = profile.round_base
        return (
            f"تقريب الأعداد الصغيرة، بأساس {base}: قُرِّبت أعداد الأطفال من 1 إلى {base - 1} في أدقّ "
            f"تصنيف إلى 0 أو {base}، حتى لا يدلّ عدد صغير على طفل بعينه؛ وكل مجموع هو حاصل جمع أجزائه "
            "المقرَّبة، لذا قد تختلف المجاميع اختلافاً طفيفاً عن الأرقام الفعلية."
        )
    rules = f"الأعداد الأقل من {profile.threshold} ({profile.site_threshold} للموقع الواحد)"
    if profile.dominance_p > 0:
        rules += " والخلايا التي تكاد وكالة واحدة تشكّلها بمفردها"
    return f"حجب الخلايا: أُخفيت {rules}، ومعها الخلايا الإضافية اللازمة كي لا يمكن استنتاج أيٍّ منها؛ وكل رقم ظاهر دقيق."


def notes(isp: Isp, spec: ReleaseSpec, profile_name: str = PROFILE) -> tuple[str, ...]:
    """Plain-language notes on what the protocol changed in this release (never a figure)."""
    plan, sharing = spec.indicators, isp.protocol.sharing
    profile = isp.protocol.disclosure.profiles[profile_name]
    out = [f"Withheld by the protocol: {isp.tags.get(tag, tag)}" for tag in sharing.never_external_tags]
    for numerator, denominator in plan.percents:
        computed = (
            f"computed from counts rounded to a multiple of {profile.round_base}"
            if profile.method == "rounding"
            else "computed from protected counts"
        )
        out.append(
            f"{isp.indicators[numerator].name_en} is given only as a percentage of "
            f"{isp.indicators[denominator].name_en.lower()}, {computed} and not shown "
            f"below {profile.min_denominator} {isp.indicators[denominator].name_en.lower()}."
        )
    for residual in plan.residuals:
        out.append(
            f"'{isp.indicators[residual.code].name_en}' also counts the categories of "
            f"'{isp.groups[residual.group].name_en}' that are not shown separately, so the breakdown adds up to "
            f"'{isp.indicators[residual.total].name_en}'."
        )
    if REST in spec.geography.rows:
        out.append("'Other sites' counts every site not shown separately.")
    stocks = [ind.name_en for code, ind in isp.indicators.items() if code in plan.counts and ind.aggregation == "stock"]
    if stocks:
        out.append(f"{', '.join(stocks)}: the caseload at the end of each period; other figures are period totals.")
    out.append(f"Disclosure control: {method_note(profile)}")
    return tuple(out)


def build_package(
    root: Path, isp: Isp, request: Request, spec: ReleaseSpec, today: date, options: Options, jobs: int | None = None
) -> Package:
    """Decrypt, protect and audit (all in memory); the package ready to render."""
    from isp.release import protect as release_protect
    from isp.release import sources as release_sources

    if not spec.indicators.counts and not spec.indicators.percents:
        raise IspError(f"{spec.source}: nothing the protocol allows to leave the group was asked for")
    from isp.governance import request_files

    profile = request_files.required_profile(root, isp, request, PROFILE)
    figures = release_sources.period_figures(root, isp, spec, jobs)
    prior = earlier_holdings(root, isp, spec, request, profile)
    if prior.monthly:  # a held period overlaps one of these: the audit meets them in the months
        figures = [replace(f, monthly=release_sources.monthly_ground(root, f.period)) for f in figures]
    protected = release_protect.protect(isp, spec, figures, profile, prior=prior)
    meta = ReleaseMeta(
        release_id=next_release_id(request),
        request_id=request.id,
        recipient=options.recipient or recipient_of(request),
        title=options.title,
        generated=today,
        profile=profile,
        disclaimers=attribution.release_notices(isp),
        periods=spec.periods,
        kind=options.kind,
        notes=notes(isp, spec, profile),
        audience=options.audience,
        inputs=tuple(f.source for f in figures),
        source_commit=_head(root),
        method=method_note(isp.protocol.disclosure.profiles[profile]),
        method_short=method_short(isp.protocol.disclosure.profiles[profile]),
        **_arabic(isp, isp.protocol.disclosure.profiles[profile], request),
    )
    table = with_period_bounds(protected.table, spec.periods)
    return Package(meta, table, labels_for(isp, spec.indicators), protected.suppressed)


def _arabic(isp: Isp, profile: DisclosureProfile, request: Request) -> dict[str, Any]:
    """The Arabic notes of a bilingual release (``languages: [en, ar]`` on the request), else none."""
    if not request.bilingual:
        return {}
    attribution_ar, undertaking_ar = attribution.release_notices_ar(isp)
    return {"method_ar": method_note_ar(profile), "attribution_ar": attribution_ar, "undertaking_ar": undertaking_ar}


def earlier_holdings(root: Path, isp: Isp, spec: ReleaseSpec, request: Request, profile: str) -> Holdings:
    """What the recipient already holds (:mod:`isp.release.holdings`): the earlier releases of this
    request and of every request to the same recipient, rebuilt from the aggregates at the commit
    each was made from (in memory), so that this release rounds a still-small cell the same way
    and its audit covers them all."""
    from isp.release import protect as release_protect
    from isp.release import sources as release_sources

    out = Holdings()
    if isp.protocol.disclosure.profiles[profile].method != "rounding":
        return out
    found = []
    for other, release in holdings.earlier_releases(root, request):
        used = isp.protocol.disclosure.profiles.get(release.profile or "")
        if release.source_commit and used is not None and used.method == "rounding":
            theirs = read_spec(isp, other.data.model_dump(), other.path)
            found += [(release, release.source_commit, used, theirs, period) for period in theirs.periods]
    chosen, out.monthly = holdings.linked(spec.periods, [period for *_, period in found])
    making = ""
    for release, commit, used, theirs, period in (found[i] for i in sorted(chosen)):
        if release.id != making:  # its periods were audited with those made before them
            out.settle(making)
            making = release.id
        (figures,) = release_sources.figures_at(root, isp, theirs, commit, {period.label})
        if out.monthly:
            figures = replace(figures, monthly=release_sources.monthly_ground(root, period, commit))
        result = release_protect.round_period(isp, theirs, figures, used, out)
        assert figures.ground is not None
        out.add(holdings.Held(holdings.THIS, theirs, result, figures.ground, period, figures.monthly))
        holdings.remember(out, theirs, period.label, result)
    out.settle(making)
    return out


def _head(root: Path) -> str:
    from isp.history import provenance

    return provenance.resolve(root, "HEAD")


def render_files(package: Package, root: Path, template: str = EXTERNAL_TEMPLATE) -> dict[str, bytes]:
    names = file_names(package.meta.release_id)
    files = {
        names["csv"]: to_csv(package),
        names["hxl"]: to_hxl(package),
        names["xlsx"]: to_xlsx(package),
        names["html"]: render(package, root, template),
        names["readme"]: to_readme(package, names),
    }
    files[names["metadata"]] = to_metadata(package, files)
    return files


def release(
    root: Path,
    request_id: str,
    out: Path,
    today: date | None = None,
    jobs: int | None = None,
    options: Options | None = None,
) -> ReleaseResult:
    """Build, check, write and record the release of request ``request_id`` into ``out``."""
    from isp.governance import request_files

    options = options or Options()
    root = root.resolve()
    today = today or workdays.today()
    isp = loading.load(root)
    request = request_files.load(root, request_id)
    refuse_unless_allowed(root, request_id, today)
    dest = check_destination(root, out)
    spec = read_spec(isp, request.data.model_dump(), request.path)
    package = build_package(root, isp, request, spec, today, options, jobs)
    written = write_package(dest, render_files(package, root, options.template))
    request_files.record_release(
        root,
        request_id,
        package.meta.release_id,
        day=today,
        recipient=package.meta.recipient,
        files={f.name: f.sha256 for f in written},
        profile=package.meta.profile,
        suppressed_cells=package.suppressed,
        source_commit=package.meta.source_commit,
    )
    return ReleaseResult(
        package.meta.release_id, request_id, dest, written, package.suppressed, package.meta.recipient, request.path
    )
