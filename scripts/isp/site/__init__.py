"""The internal site: MkDocs Material pages from the aggregates, each encrypted for its audience.
The hooks are the only code mkdocs runs; pages, labels (English, Arabic), credentials, serving.
"""
