//! The core's driver conformance suite against the real Redis at `REDIS_URL`
//! (default `redis://127.0.0.1:6379`), each test under its own key prefix,
//! deleted when the test ends. Without a Redis these tests fail, saying how
//! to start one.

mod common;

session_core::conformance_tests!(|| async {
    common::manager(common::shared_driver("conformance").await)
});
