//! Final tables: metrics and confusion matrix.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use strata_core::{ClassificationMetrics, FitReport};

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    t
}

pub fn metrics_table(
    title: &str,
    m: &ClassificationMetrics,
    fit: Option<(&FitReport, f64)>,
) -> Table {
    let mut t = table(&["metric", title]);
    t.add_row(vec!["examples".into(), m.examples.to_string()]);
    t.add_row(vec!["accuracy".into(), format!("{:.4}", m.accuracy)]);
    t.add_row(vec!["macro-F1".into(), format!("{:.4}", m.macro_f1)]);
    t.add_row(vec!["loss".into(), format!("{:.4}", m.loss)]);
    if let Some((fit, secs)) = fit {
        if let Some(val) = &fit.best_val {
            t.add_row(vec!["val accuracy".into(), format!("{:.4}", val.accuracy)]);
        }
        t.add_row(vec!["steps".into(), fit.steps.to_string()]);
        t.add_row(vec![
            "epochs (best)".into(),
            format!("{} ({})", fit.epochs_run, fit.best_epoch + 1),
        ]);
        if let Some(step) = fit.resumed_from_step {
            t.add_row(vec!["resumed from step".into(), step.to_string()]);
        }
        t.add_row(vec!["wall time".into(), format!("{secs:.1} s")]);
    }
    t
}

pub fn confusion_table(m: &ClassificationMetrics, classes: &[String]) -> Table {
    let mut header = vec!["true \\ predicted".to_string()];
    header.extend(classes.iter().cloned());
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    for (i, row) in m.confusion.iter().enumerate() {
        let mut cells = vec![classes.get(i).cloned().unwrap_or_else(|| i.to_string())];
        cells.extend(row.iter().map(u64::to_string));
        t.add_row(cells);
    }
    t
}
