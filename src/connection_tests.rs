//! Unit tests for the connection module.

/// What connections share, for a default configuration serving `root`.
pub(crate) fn shared_for(root: &std::path::Path) -> std::sync::Arc<crate::connection::Shared> {
    let config = crate::Config::for_root(root);
    let root = crate::fs::Root::open(root, config.symlinks).unwrap();
    std::sync::Arc::new(crate::connection::Shared {
        site: crate::handler::Site::new(root, &config),
        limits: crate::connection::Limits::from_config(&config),
        extra_headers: Vec::new(),
        access_log: crate::access_log::AccessLog::open(crate::access_log::LogFormat::Off, None)
            .unwrap(),
    })
}

/// Every connection's task is as large as its largest waiting state; an
/// idle keep-alive connection must stay cheap (the writing states are
/// boxed), so this guards against an await growing it again.
#[tokio::test]
async fn a_connection_task_stays_small() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (stream, peer) = listener.accept().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path());
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let permit = std::sync::Arc::new(tokio::sync::Semaphore::new(1))
        .acquire_owned()
        .await
        .unwrap();
    let ticket = crate::pool::Pool::new(1, 1).0.ticket(0, permit);
    let task = crate::connection::serve(
        stream,
        peer,
        ticket,
        crate::connection::Worker {
            shared,
            shutdown: rx,
            parking: None,
        },
    );
    let size = std::mem::size_of_val(&task);
    assert!(size <= 2048, "a connection task takes {size} bytes");
}
