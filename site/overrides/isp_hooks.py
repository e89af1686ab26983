"""MkDocs hooks of the ISP site. The code lives in the isp package (scripts/isp/site/hooks.py)."""

from isp.site.hooks import on_config, on_files, on_page_content, on_post_build, on_post_page

__all__ = ["on_config", "on_files", "on_page_content", "on_post_build", "on_post_page"]
