//! Packing the changes of one zone into UPDATE messages that fit.
//!
//! The changes of a zone normally travel in one message, but a DNS message
//! cannot exceed 64 KiB: when a server behind a thousand names of one zone
//! fails, their changes must be split or none could ever be sent.

/// Packs `groups` (each sent whole, e.g. both families of one record), in
/// order, into as few batches as keep each batch's total `size` within
/// `max_size`. A group bigger than `max_size` alone is a batch of its own.
pub fn pack<T>(groups: Vec<Vec<T>>, size: impl Fn(&T) -> usize, max_size: usize) -> Vec<Vec<T>> {
    let mut batches: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut current_size = 0;
    for group in groups {
        let group_size: usize = group.iter().map(&size).sum();
        if !current.is_empty() && current_size + group_size > max_size {
            batches.push(std::mem::take(&mut current));
            current_size = 0;
        }
        current.extend(group);
        current_size += group_size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_that_fits_goes_in_one_batch() {
        let batches = pack(vec![vec![1, 2], vec![3]], |n| *n, 100);
        assert_eq!(batches, vec![vec![1, 2, 3]]);
    }

    #[test]
    fn batches_are_filled_in_order_and_groups_stay_whole() {
        let groups = vec![vec![40], vec![30, 20], vec![25, 50], vec![60], vec![10]];
        let batches = pack(groups, |n| *n, 100);
        assert_eq!(batches, vec![vec![40, 30, 20], vec![25, 50], vec![60, 10]]);
    }

    #[test]
    fn an_oversized_group_travels_alone() {
        let batches = pack(vec![vec![5], vec![150], vec![5]], |n| *n, 100);
        assert_eq!(batches, vec![vec![5], vec![150], vec![5]]);
    }

    #[test]
    fn nothing_gives_no_batch() {
        assert!(pack(Vec::<Vec<usize>>::new(), |n| *n, 100).is_empty());
    }
}
