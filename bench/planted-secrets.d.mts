export interface PlantedSecret {
  rule: string;
  file: string;
  text: string;
  line: number;
}
export declare const plantedSecrets: (seed?: number, count?: number) => PlantedSecret[];
export declare const standIns: () => string[];
