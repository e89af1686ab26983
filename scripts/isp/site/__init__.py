"""The internal site: MkDocs Material pages generated from the encrypted aggregates, each page
encrypted for its audience by mkdocs-encryptcontent (contract F).

One concern per module: :mod:`~isp.site.data` (decrypting the aggregates in memory),
:mod:`~isp.site.cube` (compressed payloads for charts, reports and the pivot table),
:mod:`~isp.site.credentials` (the passphrases), :mod:`~isp.site.activity` and
:mod:`~isp.site.registers` (history, requests, breaches: no figures), :mod:`~isp.site.labels`
(English and Arabic), :mod:`~isp.site.pages` (jinja2 pages), :mod:`~isp.site.hooks` (MkDocs
events), :mod:`~isp.site.checks` (leak checks), :mod:`~isp.site.build` and :mod:`~isp.site.serve`.
"""
