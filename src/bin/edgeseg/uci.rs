//! The UCI "Online Shoppers Purchasing Intention" CSV -> labelled `Features`, with the
//! contract's field names (snake_case of the columns) and the pipeline's conventions.

use anyhow::{bail, Context as _, Result};
use edgeseg::core::features::{Features, Observed};

/// One session of the data set and whether it bought.
pub struct LabelledSession {
    pub features: Features,
    pub revenue: bool,
}

const LABEL: &str = "revenue";
/// Columns whose values are labels; every other column but the label is a number.
const LABEL_COLUMNS: [&str; 2] = ["month", "visitor_type"];
const FLAG_COLUMNS: [&str; 1] = ["weekend"];

/// `ProductRelated_Duration` -> `product_related_duration`, as the pipeline's
/// `data.snake_case` does.
pub fn snake_case(column: &str) -> String {
    let mut out = String::with_capacity(column.len() + 4);
    let mut previous: Option<char> = None;
    for c in column.trim().chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
        previous = Some(c);
    }
    out.trim_matches('_').to_string()
}

/// UCI's 85 `Other` visitors have no known earlier visit: the edge (and the pipeline's
/// training data) call them `New_Visitor`.
fn visitor_type(value: &str) -> &str {
    if value == "Other" {
        "New_Visitor"
    } else {
        value
    }
}

fn flag(value: &str) -> Option<bool> {
    match value.to_ascii_uppercase().as_str() {
        "TRUE" => Some(true),
        "FALSE" => Some(false),
        _ => None,
    }
}

/// Parses the whole file. CRLF or LF line endings; no quoted fields (the data set has
/// none, and a quote is refused rather than misread).
pub fn parse(text: &str) -> Result<Vec<LabelledSession>> {
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("empty file");
    };
    let columns: Vec<String> = header.split(',').map(snake_case).collect();
    let Some(label_at) = columns.iter().position(|c| c == LABEL) else {
        bail!("no `Revenue` column (columns: {})", columns.join(", "));
    };
    lines
        .map(|(index, line)| {
            parse_row(&columns, label_at, line).with_context(|| format!("line {}", index + 1))
        })
        .collect()
}

fn parse_row(columns: &[String], label_at: usize, line: &str) -> Result<LabelledSession> {
    if line.contains('"') {
        bail!("quoted fields are not supported");
    }
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.len() != columns.len() {
        bail!("{} fields, the header has {}", cells.len(), columns.len());
    }
    let mut features = Features::default();
    for (column, cell) in columns.iter().zip(&cells) {
        let value = if column == LABEL {
            continue;
        } else if LABEL_COLUMNS.contains(&column.as_str()) {
            let label = if column == "visitor_type" {
                visitor_type(cell)
            } else {
                cell
            };
            Observed::Label(label.to_string())
        } else if FLAG_COLUMNS.contains(&column.as_str()) {
            let set =
                flag(cell).with_context(|| format!("`{column}`: `{cell}` is not TRUE/FALSE"))?;
            Observed::Num(if set { 1.0 } else { 0.0 })
        } else {
            let number: f64 = cell
                .parse()
                .with_context(|| format!("`{column}`: `{cell}` is not a number"))?;
            Observed::Num(number)
        };
        features.set(column.clone(), value);
    }
    let revenue = flag(cells[label_at])
        .with_context(|| format!("`Revenue`: `{}` is not TRUE/FALSE", cells[label_at]))?;
    Ok(LabelledSession { features, revenue })
}

/// Row indices (0-based, data rows after the header), one per line; `#` comments and
/// blank lines ignored. `source` names the list in errors.
pub fn parse_rows(text: &str, source: &str, row_count: usize) -> Result<Vec<usize>> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("{source}:{}", index + 1);
        let row: usize = line
            .parse()
            .with_context(|| format!("{}: `{line}` is not a row index", at()))?;
        if row >= row_count {
            bail!(
                "{}: row {row} is past the last data row ({})",
                at(),
                row_count.saturating_sub(1)
            );
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("{source}: no row indices");
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_become_contract_field_names() {
        assert_eq!(
            snake_case("ProductRelated_Duration"),
            "product_related_duration"
        );
        assert_eq!(snake_case("BounceRates"), "bounce_rates");
        assert_eq!(snake_case("Revenue"), "revenue");
        assert_eq!(snake_case("OperatingSystems"), "operating_systems");
    }

    #[test]
    fn rows_parse_with_crlf_flags_and_visitor_mapping() {
        let text = "Administrative,Month,VisitorType,Weekend,Revenue\r\n2,Nov,Other,TRUE,FALSE\r\n";
        let rows = parse(text).expect("parses");
        assert_eq!(rows.len(), 1);
        let f = &rows[0].features;
        assert_eq!(f.get("administrative"), Some(&Observed::Num(2.0)));
        assert_eq!(f.get("month"), Some(&Observed::Label("Nov".into())));
        assert_eq!(
            f.get("visitor_type"),
            Some(&Observed::Label("New_Visitor".into()))
        );
        assert_eq!(f.get("weekend"), Some(&Observed::Num(1.0)));
        assert!(f.get("revenue").is_none());
        assert!(!rows[0].revenue);
    }

    #[test]
    fn a_bad_number_names_line_and_column() {
        let err = parse("Administrative,Revenue\n2,TRUE\nx,FALSE\n")
            .err()
            .expect("fails");
        let text = format!("{err:#}");
        assert!(
            text.contains("line 3") && text.contains("administrative"),
            "{text}"
        );
    }
}
