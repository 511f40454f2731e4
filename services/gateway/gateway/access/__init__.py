"""Who may come in: OAuth2 clients and demo users, the tokens the gateway issues, and the role allow-lists."""
