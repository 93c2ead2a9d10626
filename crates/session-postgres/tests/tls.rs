//! TLS (the `tls` feature), against a PostgreSQL server this test starts
//! itself with a certificate it makes with `openssl` (a throw-away CA and
//! a server certificate for 127.0.0.1), and a `pg_hba.conf` that refuses
//! connections without TLS.
#![cfg(feature = "tls")]

mod common;

use std::path::Path;
use std::process::Command;

use session_core::http::StatusCode;
use session_core::serde_json::json;
use session_core::testing::Browser;
use session_postgres::PostgresDriver;

use common::{PgServer, manager};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("could not run openssl ({e}): apt-get install openssl"));
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA and a server certificate signed by it, in `data`; the CA's
/// certificate is written to `ca.crt` there too.
fn make_certificates(data: &Path) {
    openssl(
        data,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=session-postgres test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    openssl(
        data,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        data.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(
        data,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 trust\n\
         hostnossl all all 127.0.0.1/32 reject\n",
    )
    .expect("pg_hba.conf");
    // PostgreSQL refuses a key others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_over_tls_to_a_server_with_a_private_ca() {
    let mut ca = Vec::new();
    let server = PgServer::init_with(
        &[
            "ssl=on",
            "ssl_cert_file=server.crt",
            "ssl_key_file=server.key",
        ],
        |data| {
            make_certificates(data);
            ca = std::fs::read(data.join("ca.crt")).expect("ca.crt");
        },
    );
    let url = format!("{}?sslmode=require", server.url());

    let driver = PostgresDriver::builder()
        .url(&url)
        .tls_root_certificates(ca.clone())
        .sweep_interval(None)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("TLS with the test CA: {e}\n{}", server.log()));
    let mut b = Browser::new(manager(driver));
    b.request(StatusCode::SEE_OTHER, |s| {
        s.set("user", "ada").expect("set");
        s.flash("success", "over TLS").expect("flash");
    })
    .await
    .expect("request");
    assert_eq!(
        b.view().await.expect("view"),
        json!({"user": "ada", "success": "over TLS"})
    );

    // The certificate is verified: without the CA it is refused.
    let err = PostgresDriver::builder()
        .url(&url)
        .sweep_interval(None)
        .connect()
        .await
        .expect_err("an unknown CA");
    assert!(err.to_string().contains("could not connect"), "{err}");
    eprintln!("without the CA: {err}");

    // Without sslmode=require the driver does not use TLS, and this
    // server refuses that.
    let err = PostgresDriver::builder()
        .url(server.url())
        .sweep_interval(None)
        .connect()
        .await
        .expect_err("no TLS");
    assert!(err.to_string().contains("no encryption"), "{err}");

    let err = PostgresDriver::builder()
        .url(&url)
        .tls_root_certificates(b"not a certificate".to_vec())
        .connect()
        .await
        .expect_err("junk roots");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}
