//! Every driver against the model: random operation sequences over simulated
//! requests ending in 200, 303, 404 or 500.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use session_core::testing::model;
use session_core::{
    MemoryDriver, SessionConfig, SessionManager,
    driver::{SessionDriver, SessionId},
};
use session_redis::RedisDriver;

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

/// One runtime for all cases: the Redis connection lives on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// The redis driver under a prefix of its own, connected once.
fn redis() -> SessionManager {
    static DRIVER: OnceLock<Arc<dyn SessionDriver>> = OnceLock::new();
    let driver = DRIVER.get_or_init(|| {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("model-test:{}:", SessionId::generate());
        let driver = block_on(RedisDriver::builder()
            .url(url)
            .key_prefix(prefix)
            // What the cases leave behind expires within a minute.
            .lifetime(std::time::Duration::from_secs(60))
            .connect())
            .unwrap_or_else(|e| panic!("{e}: the model test needs Redis at REDIS_URL (start one with `redis-server --daemonize yes --save \"\" --appendonly no`)"));
        Arc::new(driver)
    });
    SessionManager::builder()
        .shared_driver("redis", driver.clone())
        .default_driver("redis")
        .build()
        .expect("manager")
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

    #[test]
    fn redis_driver_matches_the_model(requests in model::requests(8)) {
        block_on(model::run(redis(), requests));
    }
}
