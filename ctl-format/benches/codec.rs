//! Parse and write of the genuine Cisco CTL file (criterion; figures go in the README).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ctl_format::TrustList;

fn genuine() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv"
    );
    std::fs::read(path).unwrap_or_else(|e| panic!("test vector missing at {path}: {e}"))
}

fn codec(c: &mut Criterion) {
    let file = genuine();
    let list = TrustList::parse(&file).unwrap();
    let mut group = c.benchmark_group("genuine-ctl-7166B");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| TrustList::parse(black_box(&file)).unwrap())
    });
    group.bench_function("write", |b| b.iter(|| black_box(&list).to_bytes().unwrap()));
    group.bench_function("signed_bytes", |b| {
        b.iter(|| ctl_format::signed_bytes(black_box(&file)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
