"""The file MkDocs loads as the site's hooks; ``isp site build`` names it (never mkdocs.yml).

MkDocs imports a hooks file as a fresh module, so this shim re-exports the ``on_*`` functions of
:mod:`isp.site.hooks` (whose module state, the build session, must stay one). It lives in the
installed package so that no file a branch can change (``site/``, ``mkdocs.yml``) runs as Python
during a build.
"""

from isp.site.hooks import on_config, on_files, on_page_content, on_page_markdown, on_post_build, on_post_page

__all__ = ["on_config", "on_files", "on_page_content", "on_page_markdown", "on_post_build", "on_post_page"]
