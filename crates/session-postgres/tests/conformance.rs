//! The core's driver conformance suite against the real PostgreSQL at
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`), each
//! test in a table of its own, dropped when the test ends. Without a
//! PostgreSQL these tests fail, saying how to start one.

mod common;

session_core::conformance_tests!(|| async {
    common::manager(common::shared_driver("conformance").await)
});
