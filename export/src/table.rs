//! One Parquet table written in row groups: typed column builders filled row by row, turned into
//! an Arrow record batch and written every [`ROW_GROUP`] rows, so memory holds one row group.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::ExportError;

/// Rows per row group (and per Arrow batch held in memory).
pub const ROW_GROUP: usize = 16 * 1024;

/// The schema version written in every file's key-value metadata (`mptcp_trace_schema`).
pub const SCHEMA_VERSION: &str = "1";

/// A column's type.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    U64,
    U32,
    U16,
    U8,
    F64,
    Str,
    Bool,
    /// A list of unsigned 64-bit numbers (frame numbers).
    ListU64,
}

/// One value of a row; `None` is null.
#[derive(Debug, Clone, Copy)]
pub enum V<'a> {
    U64(Option<u64>),
    U32(Option<u32>),
    U16(Option<u16>),
    U8(Option<u8>),
    F64(Option<f64>),
    Str(Option<&'a str>),
    Bool(Option<bool>),
    ListU64(&'a [u64]),
}

enum Col {
    U64(UInt64Builder),
    U32(UInt32Builder),
    U16(UInt16Builder),
    U8(UInt8Builder),
    F64(Float64Builder),
    Str(StringBuilder),
    Bool(BooleanBuilder),
    ListU64(ListBuilder<UInt64Builder>),
}

impl Col {
    fn new(t: Ty) -> Col {
        match t {
            Ty::U64 => Col::U64(UInt64Builder::new()),
            Ty::U32 => Col::U32(UInt32Builder::new()),
            Ty::U16 => Col::U16(UInt16Builder::new()),
            Ty::U8 => Col::U8(UInt8Builder::new()),
            Ty::F64 => Col::F64(Float64Builder::new()),
            Ty::Str => Col::Str(StringBuilder::new()),
            Ty::Bool => Col::Bool(BooleanBuilder::new()),
            Ty::ListU64 => Col::ListU64(ListBuilder::new(UInt64Builder::new())),
        }
    }

    /// Appends `v`; false when its type is not the column's.
    fn push(&mut self, v: V<'_>) -> bool {
        match (self, v) {
            (Col::U64(b), V::U64(x)) => b.append_option(x),
            (Col::U32(b), V::U32(x)) => b.append_option(x),
            (Col::U16(b), V::U16(x)) => b.append_option(x),
            (Col::U8(b), V::U8(x)) => b.append_option(x),
            (Col::F64(b), V::F64(x)) => b.append_option(x),
            (Col::Str(b), V::Str(x)) => b.append_option(x),
            (Col::Bool(b), V::Bool(x)) => b.append_option(x),
            (Col::ListU64(b), V::ListU64(xs)) => {
                b.values().append_slice(xs);
                b.append(true);
            }
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::U64(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U16(b) => Arc::new(b.finish()),
            Col::U8(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::ListU64(b) => Arc::new(b.finish()),
        }
    }
}

fn data_type(t: Ty) -> DataType {
    match t {
        Ty::U64 => DataType::UInt64,
        Ty::U32 => DataType::UInt32,
        Ty::U16 => DataType::UInt16,
        Ty::U8 => DataType::UInt8,
        Ty::F64 => DataType::Float64,
        Ty::Str => DataType::Utf8,
        Ty::Bool => DataType::Boolean,
        Ty::ListU64 => DataType::List(Arc::new(Field::new("item", DataType::UInt64, true))),
    }
}

/// The file a table is written to until the export succeeds: beside the table, hidden, named
/// for this process (it is renamed onto the table by [`crate::Written::commit`]).
pub fn staging_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// A table being written (to [`staging_path`] of `path`).
pub struct Table {
    pub path: PathBuf,
    schema: SchemaRef,
    cols: Vec<Col>,
    rows: usize,
    written: u64,
    writer: Option<ArrowWriter<File>>,
}

impl Table {
    /// Creates the file; `columns` are (name, type, nullable).
    pub fn create(path: &Path, columns: &[(&str, Ty, bool)]) -> Result<Table, ExportError> {
        let schema: SchemaRef =
            Arc::new(Schema::new(columns.iter().map(|&(n, t, null)| Field::new(n, data_type(t), null)).collect::<Vec<_>>()));
        let file = File::create(staging_path(path)).map_err(|source| ExportError::Io { path: path.to_path_buf(), source })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_key_value_metadata(Some(vec![KeyValue::new("mptcp_trace_schema".to_string(), SCHEMA_VERSION.to_string())]))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| ExportError::parquet(path, e))?;
        Ok(Table {
            path: path.to_path_buf(),
            schema,
            cols: columns.iter().map(|c| Col::new(c.1)).collect(),
            rows: 0,
            written: 0,
            writer: Some(writer),
        })
    }

    /// Appends one row (values in column order); writes a row group when one is full.
    pub fn row(&mut self, values: &[V<'_>]) -> Result<(), ExportError> {
        if values.len() != self.cols.len() || !self.cols.iter_mut().zip(values).all(|(c, &v)| c.push(v)) {
            return Err(ExportError::Internal("row does not fit its table's columns"));
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.cols.iter_mut().map(Col::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| ExportError::Arrow(e.to_string()))?;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch).map_err(|e| ExportError::parquet(&self.path, e))?;
            // one row group per batch: its memory is released now
            w.flush().map_err(|e| ExportError::parquet(&self.path, e))?;
        }
        self.written += self.rows as u64;
        self.rows = 0;
        Ok(())
    }

    /// Writes what is left and the file footer; returns the rows written. The file stays at
    /// its staging path until the export is committed.
    pub fn close(mut self) -> Result<u64, ExportError> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.close() {
                // The footer could not be written (a full disk): the staging file goes.
                let _ = std::fs::remove_file(staging_path(&self.path));
                return Err(ExportError::parquet(&self.path, e));
            }
        }
        Ok(self.written)
    }
}

impl Drop for Table {
    /// Not closed: the export failed; its staging file goes.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(staging_path(&self.path));
        }
    }
}
