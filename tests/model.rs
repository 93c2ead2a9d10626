//! Every driver against the model: random operation sequences over simulated
//! requests ending in 200, 303, 404 or 500.

use proptest::prelude::*;
use session_core::testing::model;
use session_core::{MemoryDriver, SessionConfig, SessionManager};

fn memory() -> SessionManager {
    SessionManager::builder()
        .driver("memory", MemoryDriver::default())
        .build()
        .expect("manager")
}

fn cookie() -> SessionManager {
    let config = SessionConfig::default()
        .with_driver("cookie")
        .with_secret("a model-test secret that is long enough")
        .expect("secret");
    SessionManager::from_config(&config).expect("manager")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn memory_driver_matches_the_model(requests in model::requests(8)) {
        block_on(model::run(memory(), requests));
    }

    #[test]
    fn cookie_driver_matches_the_model(requests in model::requests(8)) {
        block_on(model::run(cookie(), requests));
    }
}
