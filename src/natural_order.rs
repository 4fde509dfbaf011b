//! Natural ordering of names, so node2 comes before node10 as docker-machine users expect.

use std::cmp::Ordering;

pub fn natural_cmp(left: &str, right: &str) -> Ordering {
    let (mut left, mut right) = (left.as_bytes(), right.as_bytes());
    loop {
        match (left.first(), right.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                let left_digits = left.iter().take_while(|c| c.is_ascii_digit()).count();
                let right_digits = right.iter().take_while(|c| c.is_ascii_digit()).count();
                let left_number = trim_zeros(&left[..left_digits]);
                let right_number = trim_zeros(&right[..right_digits]);
                let order = left_number
                    .len()
                    .cmp(&right_number.len())
                    .then_with(|| left_number.cmp(right_number))
                    .then_with(|| left_digits.cmp(&right_digits));
                if order != Ordering::Equal {
                    return order;
                }
                left = &left[left_digits..];
                right = &right[right_digits..];
            }
            (Some(a), Some(b)) => {
                let order = a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()).then(a.cmp(b));
                if order != Ordering::Equal {
                    return order;
                }
                left = &left[1..];
                right = &right[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value() {
        let mut names = vec!["node10", "node2", "Node1", "node1", "a", "node02b", "node02a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["a", "Node1", "node1", "node2", "node02a", "node02b", "node10"]);
    }
}
