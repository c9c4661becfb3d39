//! Estimated prices of Claude models, in USD per million tokens, to turn token counts into
//! an estimated cost. Cache reads cost a tenth of input, cache writes a quarter more.
//!
//! Only files without the CLI's own figure (a `cost-state` line, 2.1.330 on) are priced
//! here. The figures are the public list prices; the real CLI's own `total_cost_usd`
//! matches the table for `claude-opus-4-8` (19,150 input + 12 output tokens = $0.09605,
//! 2.1.197) and `claude-opus-5-5` (12,465 + 12 = $0.0501, 2.1.330).

/// (input, output) USD per million tokens for `model`; `None` for unknown or synthetic
/// models (API errors are written with model `<synthetic>`).
pub fn price_per_mtok(model: &str) -> Option<(f64, f64)> {
    let m = model.to_ascii_lowercase();
    // Today's models, as the 2.1.330 `initialize` answer lists them.
    for (family, price) in [
        ("opus-5", (4.0, 20.0)),
        ("sonnet-5", (2.0, 10.0)),
        ("haiku-5", (0.10, 0.50)),
        ("fable", (8.0, 40.0)),
    ] {
        if m.contains(family) {
            return Some(price);
        }
    }
    if m.contains("opus") {
        // Opus 3, 4 and 4.1 were priced higher than Opus 4.5 and later.
        let old = m.contains("claude-3")
            || m.contains("opus-4-0")
            || m.contains("opus-4-1")
            || m.ends_with("opus-4")
            || m.contains("opus-4-2025")
            || m.contains("opus-4@");
        return Some(if old { (15.0, 75.0) } else { (5.0, 25.0) });
    }
    if m.contains("sonnet") {
        return Some((3.0, 15.0));
    }
    if m.contains("haiku") {
        return Some(if m.contains("claude-3-haiku") {
            (0.25, 1.25)
        } else if m.contains("3-5") {
            (0.8, 4.0)
        } else {
            (1.0, 5.0)
        });
    }
    None
}

/// Estimated cost of one message's usage.
pub fn cost(model: &str, tokens: &super::meta::Tokens) -> f64 {
    let Some((input, output)) = price_per_mtok(model) else {
        return 0.0;
    };
    let mtok = |n: u64| n as f64 / 1_000_000.0;
    mtok(tokens.input) * input
        + mtok(tokens.output) * output
        + mtok(tokens.cache_read) * input * 0.1
        + mtok(tokens.cache_creation) * input * 1.25
}

#[cfg(test)]
mod tests {
    use super::super::meta::Tokens;
    use super::*;

    #[test]
    fn matches_the_real_cli_cost_for_opus_4_8() {
        let tokens = Tokens {
            input: 19150,
            output: 12,
            ..Tokens::default()
        };
        let usd = cost("claude-opus-4-8", &tokens);
        assert!((usd - 0.09605).abs() < 1e-9, "{usd}");
        assert_eq!(cost("<synthetic>", &tokens), 0.0);
        assert_eq!(price_per_mtok("claude-3-opus-20240229"), Some((15.0, 75.0)));
        assert_eq!(price_per_mtok("claude-sonnet-4"), Some((3.0, 15.0)));
    }

    #[test]
    fn knows_todays_models() {
        let tokens = Tokens {
            input: 12465,
            output: 12,
            ..Tokens::default()
        };
        // 01_say_hi of 2.1.330: total_cost_usd 0.0501.
        assert!((cost("claude-opus-5-5", &tokens) - 0.0501).abs() < 1e-9);
        assert_eq!(price_per_mtok("claude-sonnet-5-5"), Some((2.0, 10.0)));
        assert_eq!(price_per_mtok("claude-haiku-5-5"), Some((0.10, 0.50)));
        assert_eq!(price_per_mtok("claude-fable-5-2"), Some((8.0, 40.0)));
        // Cache reads a tenth of input, writes a quarter more.
        let cached = Tokens {
            cache_read: 1_000_000,
            cache_creation: 1_000_000,
            ..Tokens::default()
        };
        assert!((cost("claude-opus-5-5", &cached) - (0.4 + 5.0)).abs() < 1e-9);
    }
}
