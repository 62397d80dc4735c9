"""The catalog: server-rendered pages of the served models, try-it forms, sign-in, accounts."""
