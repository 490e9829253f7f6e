//! The seed example from Paddle's docs: y = x1 + x2, J = jacobian(y, (x1, x2)).

use jac_core::{Tensor, add, jacobian};

fn main() -> Result<(), jac_core::Error> {
    let x1 = Tensor::from_vec(vec![-0.4624, 0.6623, 0.38], &[3], true)?;
    let x2 = Tensor::from_vec(vec![1.0051, 0.7353, 1.9495], &[3], true)?;
    let y = add(&x1, &x2)?;
    let j = jacobian(&y, &[x1, x2], None)?;
    for k in 0..2 {
        let block = j.read(0, k, &[])?;
        println!("J[{k}] shape {:?}\n{block}", block.shape());
    }
    Ok(())
}
