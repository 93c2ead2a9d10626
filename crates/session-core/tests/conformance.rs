//! The driver conformance suite, run against the memory and cookie drivers.
//! (`session-redis` runs the same suite against a real Redis.)

mod memory {
    use session_core::{MemoryDriver, SessionManager};

    session_core::conformance_tests!(|| async {
        SessionManager::builder()
            .driver("memory", MemoryDriver::default())
            .build()
            .expect("manager")
    });
}

mod cookie {
    use session_core::{SessionConfig, SessionManager};

    session_core::conformance_tests!(|| async {
        let config = SessionConfig::default()
            .with_driver("cookie")
            .with_secret("a test secret that is long enough to use")
            .expect("secret");
        SessionManager::from_config(&config).expect("manager")
    });
}
