//! Runs a screen's Tasks in a test as the window's runtime would: the work they start off the
//! UI thread is done, and the messages they produce are handed back.

/// The messages `task` produces, once all its work is done.
pub fn run_task<M: Send + 'static>(task: iced::Task<M>) -> Vec<M> {
    let Some(stream) = iced_runtime::task::into_stream(task) else {
        return Vec::new();
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use futures_util::StreamExt;
        stream
            .filter_map(|action| async move {
                match action {
                    iced_runtime::Action::Output(m) => Some(m),
                    _ => None,
                }
            })
            .collect()
            .await
    })
}
