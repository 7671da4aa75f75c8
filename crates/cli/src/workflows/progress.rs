//! A progress bar on stderr for the long-running commands, shown only when stderr is a
//! terminal (so pipes, files and CI logs stay clean).

use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use perfstore::transfer::{Progress, ProgressFn, Stage};

/// A bar that draws [`Progress`] reports, or nothing when stderr is not a terminal.
#[derive(Debug)]
pub struct Bar {
    bar: Option<ProgressBar>,
    verb: &'static str,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Bar {
    /// A bar labelled `verb` (`importing`, …) while transferring.
    pub fn new(verb: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style("{spinner} {msg}"))
        });
        Self { bar, verb }
    }

    /// The callback to hand to a transfer, if the bar is shown.
    pub fn callback(&self) -> Option<ProgressFn> {
        let bar = self.bar.clone()?;
        let verb = self.verb;
        let stage: Mutex<Option<Stage>> = Mutex::new(None);
        Some(ProgressFn::new(move |p: &Progress| {
            let mut current = stage.lock().unwrap_or_else(PoisonError::into_inner);
            if *current != Some(p.stage) {
                // A new stage: new units, and its own ETA.
                *current = Some(p.stage);
                match p.stage {
                    Stage::Scanning => {
                        bar.set_style(style("{spinner} {msg}"));
                        bar.set_message("scanning");
                    }
                    Stage::Checking => {
                        bar.set_style(style(
                            "{msg:>11} [{bar:30}] {pos}/{len} artifacts ({eta} left)",
                        ));
                        bar.set_message("checking");
                    }
                    Stage::Transferring => {
                        bar.set_style(style(
                            "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta} left)",
                        ));
                        bar.set_message(verb);
                    }
                }
                bar.reset();
            }
            match p.stage {
                Stage::Scanning => bar.tick(),
                Stage::Checking => {
                    bar.set_length(p.items_total);
                    bar.set_position(p.items_done);
                }
                Stage::Transferring => {
                    bar.set_length(p.bytes_total);
                    bar.set_position(p.bytes_done);
                }
            }
        }))
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
