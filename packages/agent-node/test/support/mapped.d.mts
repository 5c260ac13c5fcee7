export declare function writeMappedModule(dir: string, name: string, js: string[], ts: string, segments?: string): void;
