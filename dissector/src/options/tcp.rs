//! Raw TCP option walker.
