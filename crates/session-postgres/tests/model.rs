//! The model-based check of session-core against the PostgreSQL driver:
//! random operation sequences over simulated requests ending in 200, 303,
//! 404 or 500, in a table of its own, dropped at the end.

mod common;

use std::sync::Arc;
use std::time::Duration;

use proptest::test_runner::{Config, TestRunner};
use session_core::SessionManager;
use session_core::driver::SessionDriver;
use session_core::testing::model;

#[test]
fn postgres_driver_matches_the_model() {
    // One runtime for all cases: the pool's connections live on it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let driver: Arc<dyn SessionDriver> = Arc::new(common::Cleaning::new(
        runtime.block_on(common::connect(
            common::shared_builder("model").lifetime(Duration::from_secs(60)),
        )),
        common::database_url(),
    ));
    let mut runner = TestRunner::new(Config {
        cases: 128,
        // The shared database holds no state between cases worth saving.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&model::requests(8), |requests| {
        let manager = SessionManager::builder()
            .shared_driver("postgres", driver.clone())
            .default_driver("postgres")
            .build()
            .expect("manager");
        runtime.block_on(model::run(manager, requests));
        Ok(())
    });
    // The table goes with the last handle, whatever the outcome.
    drop(driver);
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
