//! Finding the branch that breaks a batch, as merge queues do: the branches were merged
//! in order, the base is green and the whole merge is red, so some prefix of the order is
//! the first red one, and its last branch is the culprit. A binary search over prefix
//! lengths finds it in about log2(n) verifications (3 for 8 branches), not n.

/// The index of the culprit among `n` branches merged in order, given `red(k)`: whether
/// the first `k` branches merged together fail the check. `red(0)` (the base) is taken to
/// be false and `red(n)` true; `red` is asked only of lengths strictly between. Returns
/// the culprit and how many times `red` was asked.
pub fn culprit(n: usize, mut red: impl FnMut(usize) -> bool) -> (usize, u32) {
    let (mut green_len, mut red_len) = (0usize, n);
    let mut asked = 0;
    while red_len - green_len > 1 {
        let mid = green_len + (red_len - green_len) / 2;
        asked += 1;
        if red(mid) {
            red_len = mid;
        } else {
            green_len = mid;
        }
    }
    (red_len.saturating_sub(1), asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_culprit_of_eight_is_found_in_three_trials() {
        for bad in 0..8 {
            let (found, asked) = culprit(8, |k| k > bad);
            assert_eq!(found, bad);
            assert_eq!(asked, 3, "culprit {bad}");
        }
        assert_eq!(culprit(1, |_| unreachable!()), (0, 0));
        assert_eq!(culprit(2, |k| k > 1), (1, 1));
    }
}
