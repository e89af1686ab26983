"""`isp demo`: a complete synthetic ISP, from keys to a browsable site, in one folder.
A storyline of signed encrypted sheets, requests, a breach and a suspension, replayed in git.
"""
