#[test]
fn dump() {
    let src = std::fs::read_to_string("/tmp/dump/in.rs").unwrap();
    let attr = std::fs::read_to_string("/tmp/dump/attr").unwrap();
    let out = autodiff_expand::differentiate(attr.parse().unwrap(), src.parse().unwrap());
    std::fs::write("/tmp/dump/out.rs", out.to_string()).unwrap();
}
