import ts from 'typescript';

/** Compile TypeScript sources to CommonJS the way tsc does, with a map file or an inline map. */
export function compile(
  files: string[],
  outDir: string,
  rootDir: string,
  map: 'file' | 'inline',
  sourceRoot?: string,
): void {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    outDir,
    rootDir,
    strict: true,
    skipLibCheck: true,
    types: [],
    ...(map === 'file' ? { sourceMap: true } : { inlineSourceMap: true }),
    ...(sourceRoot ? { sourceRoot } : {}),
  };
  const program = ts.createProgram(files, options);
  const result = program.emit();
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length > 0) {
    throw new Error(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  }
}
