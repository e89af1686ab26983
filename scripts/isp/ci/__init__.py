"""The pull-request gate of `isp ci pr`: every changed path judged by the rules of its class.
Signatures, recipients, replays and governance rules, judged against the pull request's base.
"""
