"""What the actions need besides the tables, below both `actions/` and `web/` (so neither imports the
other's way up): input checks (`checks`: FormError, a patient's, visit's or score's fields),
accounts (`accounts`: user names, password policy, Argon2id hashing, ending sessions), a recording's
files (`media`: per-patient folders, upload spooling and checks, key-frame drawing), a stored analysis
(`analyses`: storable JSON, grading again with corrected steps, key-frame captions) and the practice
programme (`practice`: its check, the programme in force, a new session row).

It reads and checks; it never commits: every change is an action's.
"""
