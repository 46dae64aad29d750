export declare const selfSignedCertificate: (dir: string) => { key: string; cert: string };
