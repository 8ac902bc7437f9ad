"""Customer evidence on a board: feedback and journey events, and the insight drawn from them."""
