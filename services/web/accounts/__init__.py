"""People's accounts (tài khoản cán bộ): users bound to an org unit and roles, password hashes, sessions, sign-in
attempts. Operations tables (not events): who may sign in is the node's own business, never synchronised."""
