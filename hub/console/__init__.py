"""`hub console`: the operations console in the browser. Server-rendered pages over the same
store, audit trail and replay code the command line uses; operators sign in with a role."""
