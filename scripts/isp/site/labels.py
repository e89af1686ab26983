"""The site's words in English and Arabic: navigation, headings, table labels, code names.

Names of sites, indicators and breakdowns come from protocol/*.yaml (``name_en``/``name_ar``);
everything else is in :data:`TEXT`. A missing Arabic string falls back to English, so a new label
never breaks the Arabic build.
"""

from __future__ import annotations

from isp.protocol import models as protocol

LANGUAGES = ("en", "ar")

TEXT: dict[str, tuple[str, str]] = {
    # navigation and page titles
    "home": ("Home", "الرئيسية"),
    "reports": ("Reports", "التقارير"),
    "monthly": ("Monthly", "شهري"),
    "quarterly": ("Quarterly", "ربع سنوي"),
    "half-yearly": ("Half-yearly", "نصف سنوي"),
    "annual": ("Annual", "سنوي"),
    "reports_title": ("Consolidated reports", "التقارير الموحّدة"),
    "explore": ("Trends and pivot table", "الاتجاهات والجدول المحوري"),
    "agencies": ("Agencies", "الوكالات"),
    "agency_home": ("Submissions and timeliness", "التقديمات والالتزام بالمواعيد"),
    "agency_data": ("Own data", "البيانات الخاصة"),
    "compliance": ("Compliance", "الامتثال"),
    "requests": ("Requests board", "لوحة طلبات البيانات"),
    "governance": ("Breaches and suspensions", "الانتهاكات وتعليق المشاركة"),
    "calendar": ("Deadlines calendar", "تقويم المواعيد النهائية"),
    "protocol": ("Protocol", "البروتوكول"),
    "protocol_plain": ("The protocol in plain words", "البروتوكول بكلمات بسيطة"),
    "signatories": ("Signatories and focal points", "الجهات الموقّعة وجهات الاتصال"),
    "sites_matrix": ("Sites matrix", "مصفوفة المواقع"),
    "audit": ("Audit timeline", "السجل الزمني للتدقيق"),
    "site_name": ("CP ISP Jordan: internal site", "بروتوكول تبادل المعلومات لحماية الطفل في الأردن: الموقع الداخلي"),
    # table and control labels
    "indicator": ("Indicator", "المؤشر"),
    "group": ("Group", "المجموعة"),
    "period": ("Period", "الفترة"),
    "month": ("Month", "الشهر"),
    "site": ("Site", "الموقع"),
    "sex": ("Sex", "الجنس"),
    "age_group": ("Age group", "الفئة العمرية"),
    "nationality": ("Nationality", "الجنسية"),
    "national": ("National total", "المجموع الوطني"),
    "total": ("Total", "المجموع"),
    "rows": ("Rows", "الصفوف"),
    "columns": ("Columns", "الأعمدة"),
    "from": ("From", "من"),
    "to": ("To", "إلى"),
    "kind": ("Period kind", "نوع الفترة"),
    "download_csv": ("Download CSV", "تنزيل CSV"),
    "download_xlsx": ("Download XLSX", "تنزيل XLSX"),
    "breakdown": ("Breakdown for the selected site", "التفصيل للموقع المحدد"),
    "by_site": ("By site", "حسب الموقع"),
    "trend": ("Trend", "الاتجاه"),
    "pivot": ("Pivot table", "الجدول المحوري"),
    "dl_submission": ("Tracking sheets due", "موعد تقديم جداول المتابعة"),
    "dl_consolidation": ("Consolidated report due", "موعد التقرير الموحّد"),
    "dl_sectoral-report": ("Sectoral report due", "موعد التقرير القطاعي"),
    "dl_protocol-review": ("Protocol review", "مراجعة البروتوكول"),
    "dl_task-force-meeting": ("Task Force meeting", "اجتماع فريق العمل"),
    "dl_signatories-meeting": ("Signatories' meeting", "اجتماع الموقّعين"),
    "dl_breach-meeting": ("Breach meeting of all focal points", "اجتماع جميع جهات الاتصال بشأن الخرق"),
    "value": ("Count", "العدد"),
    "stock_note": (
        "Stock indicators (active cases) take the last month of a range; flows are summed.",
        "تؤخذ مؤشرات الرصيد (الحالات النشطة) من آخر شهر في النطاق، وتُجمع مؤشرات التدفق.",
    ),
    "coverage": ("Coverage", "التغطية"),
    "coverage_text": (
        "{reported} of {expected} agencies reported",
        "قدّمت {reported} من أصل {expected} وكالات بياناتها",
    ),
    "revised": ("revised after first publication", "عُدّل بعد النشر الأول"),
    "completeness": ("Completeness", "اكتمال البيانات"),
    "completeness_text": (
        "{reported} of {expected} agency-months received",
        "وردت {reported} من أصل {expected} من أشهر الوكالات",
    ),
    "partial": (
        "partial: not every agency's month is in; do not compare it with complete periods",
        "جزئية: لم ترد بيانات جميع الوكالات لكل الأشهر؛ لا تقارنها بالفترات المكتملة",
    ),
    "partial_months": ("Partial months", "أشهر جزئية"),
    "internal": (
        "INTERNAL: for CP ISP Jordan members only; not to be shared outside the group",
        "داخلي: لأعضاء بروتوكول تبادل المعلومات فقط؛ لا يُشارك خارج المجموعة",
    ),
    "scope": ("Scope", "النطاق"),
    "filters": ("Filters", "عوامل التصفية"),
    "all": ("All", "الكل"),
    "stock_last": ("stock: value of the last month", "رصيد: قيمة آخر شهر"),
    "flow_sum": ("flow: sum of the months", "تدفق: مجموع الأشهر"),
    "other_page": (
        "This passphrase opens other pages, not this one: this page is for another audience ({audience}).",
        "عبارة المرور هذه تفتح صفحات أخرى، لا هذه الصفحة: هذه الصفحة لفئة أخرى ({audience}).",
    ),
    "latest_month": ("Latest consolidated month", "آخر شهر موحّد"),
    "key_figures": ("Key figures", "الأرقام الرئيسية"),
    "previous_month": ("Previous month", "الشهر السابق"),
    "year_before": ("Same month a year before", "الشهر نفسه من العام السابق"),
    "due_next": ("What is due next", "المواعيد القادمة"),
    "due": ("Due", "تاريخ الاستحقاق"),
    "what": ("What", "البند"),
    "for": ("For", "الفترة المعنية"),
    "note": ("Note", "ملاحظة"),
    "none_yet": ("None yet.", "لا يوجد شيء بعد."),
    "no_data": ("No consolidated data yet.", "لا توجد بيانات موحّدة بعد."),
    "ics": ("Download the calendar (.ics)", "تنزيل التقويم (.ics)"),
    "agency": ("Agency", "الوكالة"),
    "roles": ("Roles", "الأدوار"),
    "system": ("System", "النظام"),
    "sites": ("Sites", "المواقع"),
    "primary": ("Primary focal point", "جهة الاتصال الرئيسية"),
    "secondary": ("Secondary focal point", "جهة الاتصال الثانوية"),
    "signatory": ("Signatory", "المفوّض بالتوقيع"),
    "name_en": ("Name (English)", "الاسم (بالإنجليزية)"),
    "name_ar": ("Name (Arabic)", "الاسم (بالعربية)"),
    "kind_site": ("Kind", "النوع"),
    "status": ("Status", "الحالة"),
    "submitted": ("Submitted", "تاريخ التقديم"),
    "versions": ("Versions", "عدد النسخ"),
    "signed_by": ("Signed by", "الموقّع"),
    "on-time": ("on time", "في الموعد"),
    "late": ("late", "متأخر"),
    "overdue": ("overdue", "متأخر ولم يُقدَّم"),
    "pending": ("not due yet", "لم يحن موعده"),
    "suspended": ("suspended", "معلّق"),
    "late_days": ("working days late", "أيام عمل تأخير"),
    "unverified": ("unverified signature", "توقيع غير موثّق"),
    "merge_of": ("merge of {count} commit(s)", "دمج {count} من الإيداعات"),
    "signed_by_list": ("signed by", "موقّعة من"),
    "merge_unsigned": ("{count} without a verified signature", "{count} دون توقيع موثّق"),
    "date": ("Date", "التاريخ"),
    "who": ("Who", "الجهة"),
    "change": ("Change", "التغيير"),
    "request": ("Request", "الطلب"),
    "requester": ("Requester", "الجهة الطالبة"),
    "received": ("Received", "تاريخ الاستلام"),
    "awaiting": ("Awaiting", "بانتظار"),
    "deadline": ("Deadline", "الموعد النهائي"),
    "breaches": ("Breaches", "الانتهاكات"),
    "suspensions": ("Suspensions", "تعليق المشاركة"),
    "meetings": ("Meetings and their minutes", "الاجتماعات ومحاضرها"),
    "meeting": ("Meeting", "الاجتماع"),
    "minutes_task-force": ("Task Force meeting", "اجتماع فريق العمل"),
    "minutes_signatories": ("Signatories' meeting", "اجتماع الجهات الموقعة"),
    "minutes_breach": (
        "Breach meeting of every agency's focal points",
        "اجتماع جهات الاتصال في كل الوكالات بشأن الانتهاك",
    ),
    "for_subject": ("On", "بشأن"),
    "attended": ("Agencies present", "الوكالات الحاضرة"),
    "decisions": ("Decisions", "القرارات"),
    "reported": ("Reported", "تاريخ الإبلاغ"),
    "resolved": ("resolved", "تم الحل"),
    "resolved_on": ("Resolved on", "تاريخ الحل"),
    "clock_meeting": ("meeting", "الاجتماع"),
    "clock_senior-management": ("senior management", "الإدارة العليا"),
    "clock_resolution": ("resolution", "الحل"),
    "clock_state_done": ("done", "تم"),
    "clock_state_late": ("done late", "تم متأخرًا"),
    "clock_state_due": ("due", "مستحق"),
    "clock_state_overdue": ("overdue", "متأخر"),
    "open": ("open", "مفتوح"),
    "reason": ("Reason", "السبب"),
    "until": ("Until", "حتى"),
    "not_available": (
        "Not available in this build: the build key could not open these files.",
        "غير متاح في هذا البناء: مفتاح البناء لا يفتح هذه الملفات.",
    ),
    "mrm_note": (
        "This agency shares MRM data, not the monthly tracking sheet.",
        "تشارك هذه الوكالة بيانات آلية الرصد والإبلاغ، لا جدول المتابعة الشهري.",
    ),
    # encryptcontent's form
    "protected_summary": ("This page is protected.", "هذه الصفحة محمية."),
    "protected_info": (
        "Choose whose passphrase you were given, then enter it.",
        "اختر لمن عبارة المرور التي أُعطيت لك، ثم أدخلها.",
    ),
    "whose": ("Whose passphrase is it?", "لمن عبارة المرور هذه؟"),
    "identity_members": ("All members (the shared passphrase)", "جميع الأعضاء (عبارة المرور المشتركة)"),
    "identity_coordinators": ("Coordinators", "المنسّقون"),
    "passphrase": ("Passphrase", "عبارة المرور"),
    "unlock": ("Open", "فتح"),
    "wrong_passphrase": (
        "Wrong passphrase: check it, and whose it is (above).",
        "عبارة المرور غير صحيحة: تحقّق منها، ومن صاحبها (أعلاه).",
    ),
    "language_other": ("العربية", "English"),
}

KIND_LABELS = ("monthly", "quarterly", "half-yearly", "annual")


def t(key: str, lang: str) -> str:
    en, ar = TEXT[key]
    return ar if lang == "ar" and ar else en


def texts(lang: str) -> dict[str, str]:
    return {key: t(key, lang) for key in TEXT}


def _name(item: object, lang: str) -> str:
    return str(getattr(item, "name_ar" if lang == "ar" else "name_en"))


def site_name(isp: protocol.Isp, code: str, lang: str) -> str:
    if code == "ALL":
        return t("national", lang)
    site = isp.sites.get(code)
    return _name(site, lang) if site else code


def identity_name(level: str, lang: str, agency: protocol.Agency | None = None) -> str:
    """How the unlock form names the holder of a level's passphrase: all members, the
    coordinators, or an agency (its short label and full name)."""
    if agency is not None:
        return f"{agency.label}: {agency.name}"
    return t(f"identity_{level}", lang)


def code_names(isp: protocol.Isp, lang: str) -> dict[str, dict[str, str]]:
    """Display names of every code, per axis, for the browser (sites carry both languages)."""
    dims = isp.dimensions
    return {
        "site": {"ALL": t("national", lang), **{code: _name(site, lang) for code, site in isp.sites.items()}},
        "site_other": {"ALL": t("national", "en" if lang == "ar" else "ar")}
        | {code: _name(site, "en" if lang == "ar" else "ar") for code, site in isp.sites.items()},
        "indicator": {code: _name(ind, lang) for code, ind in isp.indicators.items()},
        "sex": {c.code: _name(c, lang) for c in dims.sex},
        "age_group": {c.code: _name(c, lang) for c in dims.age_group},
        "nationality": {c.code: _name(c, lang) for c in dims.nationality},
    }
