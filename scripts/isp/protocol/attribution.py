"""The attribution every external output carries (ground rule 10), and the recipient's undertaking.

The signed protocol lists what an external report must say about its figures. :data:`ELEMENTS`
names each element with a pattern that finds it in any wording, so the signatories may paste
their own signed text under ``sharing.attribution`` in protocol.yaml and ``isp protocol check``
still proves that nothing was lost. ``{contacts}`` in the wording is replaced by the coordinators'
focal points from agencies.yaml, so the contact stays right when a focal point changes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from isp.protocol.models import Isp

CONTACTS = "{contacts}"


class Element(NamedTuple):
    code: str
    says: str  # what the element says, for the error message
    pattern: re.Pattern[str]


def _find(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


ELEMENTS: tuple[Element, ...] = (
    Element("reported-only", "the figures are reported cases only", _find(r"\breported cases\b")),
    Element(
        "not-representative",
        "they are in no way representative of all child-protection concerns in Jordan",
        _find(r"\b(?:not|no way)\b(?:\s+\w+){0,3}\s+representative\b[^.]*\bJordan\b"),
    ),
    Element(
        "exclusive-source",
        "they come exclusively from the case-management agencies using the CPIMS",
        _find(r"\bexclusively\b[^.]*\bcase[- ]management\b[^.]*\bCPIMS\b"),
    ),
    Element("twelve-governorates", "in twelve governorates of Jordan", _find(r"\btwelve governorates\b")),
    Element(
        "population",
        "for the population affected by the Syria crisis",
        _find(r"\bpopulation affected by the Syria(?:n)? crisis\b"),
    ),
    Element(
        "consent",
        "with the consent of children and their caregivers",
        _find(r"\bconsent of (?:the )?children and their caregivers\b"),
    ),
    Element("confidential", "the information is confidential", _find(r"\bconfidential\b")),
    Element(
        "no-reproduction",
        "it cannot be reproduced without the authorisation of the CPIMS agencies",
        _find(r"\b(?:not|cannot) be reproduced without (?:the )?authori[sz]ation of the CPIMS agencies\b"),
    ),
    Element(
        "contact",
        "whom to contact for any other use: the coordinators' focal points",
        _find(r"\bcontact\b[^.]*\bfocal points?\b"),
    ),
)

DEFAULT_WORDING: tuple[str, ...] = (
    "These figures count only reported cases and are in no way representative of all child-protection "
    "concerns, or of all unaccompanied and separated children, in Jordan.",
    "This consolidated statistical report is produced exclusively by the child-protection case-management "
    "agencies that record their case management in the CPIMS, working in twelve governorates of Jordan with "
    "the population affected by the Syria crisis, with the consent of children and their caregivers.",
    "This information is confidential and may not be reproduced without the authorisation of the CPIMS "
    f"agencies. For any other use, contact the CPIMS focal points of the coordinating agencies: {CONTACTS}.",
)

RECIPIENT_UNDERTAKING = (
    "The recipient may not pass this information on to anyone else nor use it beyond the purpose "
    "authorised. Anyone who asks the recipient for it is to be referred to the CPIMS focal points of "
    f"the coordinating agencies ({CONTACTS}), who seek the agencies' authorisation."
)


# The attribution and the undertaking in Arabic, for bilingual releases (the request's
# ``languages: [en, ar]``): the default wording above in Modern Standard Arabic. CPIMS keeps its
# Latin name, as it does in the group's Arabic documents; ``{contacts}`` as above.
DEFAULT_WORDING_AR: tuple[str, ...] = (
    "لا تشمل هذه الأرقام إلا الحالات المُبلَّغ عنها، ولا تمثّل بأي حال من الأحوال جميع حالات حماية الطفل، "
    "ولا جميع الأطفال غير المصحوبين والمنفصلين عن ذويهم، في الأردن.",
    "أعدّت هذا التقرير الإحصائي الموحَّد حصراً وكالاتُ إدارة حالات حماية الطفل التي تسجّل إدارة حالاتها في "
    "نظام CPIMS، والعاملة في اثنتي عشرة محافظة أردنية مع السكان المتأثرين بالأزمة السورية، وذلك بموافقة "
    "الأطفال ومقدّمي الرعاية لهم.",
    "هذه المعلومات سرّية، ولا يجوز نسخها أو نشرها دون إذن من الوكالات المستخدمة لنظام CPIMS. ولأي استخدام "
    f"آخر، يُرجى التواصل مع مسؤولي الارتباط لنظام CPIMS في الوكالات المنسِّقة: {CONTACTS}.",
)

RECIPIENT_UNDERTAKING_AR = (
    "لا يجوز للجهة المستلِمة أن تنقل هذه المعلومات إلى أي طرف آخر، ولا أن تستخدمها في غير الغرض المأذون به. "
    "ويُحال كل من يطلبها من الجهة المستلِمة إلى مسؤولي الارتباط لنظام CPIMS في الوكالات المنسِّقة "
    f"({CONTACTS})، الذين يطلبون إذن الوكالات."
)


def release_notices_ar(isp: Isp) -> tuple[tuple[str, ...], str]:
    """The attribution paragraphs and the recipient's undertaking in Arabic (bilingual releases)."""
    people = contacts(isp)
    return tuple(t.replace(CONTACTS, people) for t in DEFAULT_WORDING_AR), RECIPIENT_UNDERTAKING_AR.replace(
        CONTACTS, people
    )


def contacts(isp: Isp) -> str:
    """The coordinators' primary focal points, from agencies.yaml: names and e-mails, without the
    agency codes, so that no file of a release names an agency (each e-mail says who it is)."""
    people = [isp.agencies[code].focal_points.primary for code in isp.coordinators()]
    return "; ".join(f"{person.name}, {person.email}" for person in people)


def wording(isp: Isp) -> tuple[str, ...]:
    """The attribution as printed: the signatories' wording if pasted, else the default."""
    texts = isp.protocol.sharing.attribution or DEFAULT_WORDING
    return tuple(" ".join(text.split()).replace(CONTACTS, contacts(isp)) for text in texts)


def missing_elements(texts: tuple[str, ...] | list[str], isp: Isp) -> list[Element]:
    """The elements the wording lacks (the contact also needs every coordinator's focal point)."""
    joined = " ".join(" ".join(t.split()) for t in texts)
    missing = [e for e in ELEMENTS if not e.pattern.search(joined)]
    emails = [isp.agencies[code].focal_points.primary.email for code in isp.coordinators()]
    contact = next(e for e in ELEMENTS if e.code == "contact")
    if contact not in missing and not all(email in joined for email in emails):
        missing.append(contact)
    return missing


def release_notices(isp: Isp) -> tuple[str, ...]:
    """What every file of an external release opens with: the attribution, the recipient's
    undertaking, then the protocol's other disclaimers."""
    undertaking = RECIPIENT_UNDERTAKING.replace(CONTACTS, contacts(isp))
    return (*wording(isp), undertaking, *isp.protocol.sharing.disclaimers)
